module memsight.test/memgrow

go 1.24
