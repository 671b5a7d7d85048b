module memsight.test/selfaddr

go 1.24
