module memsight.test/finq

go 1.24
