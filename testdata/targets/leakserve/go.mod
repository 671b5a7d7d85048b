module memsight.test/leakserve

go 1.24
