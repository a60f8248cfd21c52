module poet.local/libs/testkit

go 1.26
