module poet.local/services/identity

go 1.26
