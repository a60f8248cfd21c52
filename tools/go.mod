module poet.local/tools

go 1.26
