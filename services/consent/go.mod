module poet.local/services/consent

go 1.26
