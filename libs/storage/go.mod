module poet.local/libs/storage

go 1.26
