module memsight.test/goleak

go 1.24
