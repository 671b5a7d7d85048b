module memsight.test/finstuck

go 1.24
