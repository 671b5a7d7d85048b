module memsight.test/finslow

go 1.24
