module poet.local/services/web

go 1.26
