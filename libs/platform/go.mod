module poet.local/libs/platform

go 1.26
