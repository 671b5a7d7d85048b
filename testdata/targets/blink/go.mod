module memsight.test/blink

go 1.24
