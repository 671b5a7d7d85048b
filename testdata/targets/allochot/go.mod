module memsight.test/allochot

go 1.24
