module memsight.test/gcpauses

go 1.24
