module memsight.test/heapleak

go 1.24
