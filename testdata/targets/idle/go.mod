module memsight.test/idle

go 1.24
