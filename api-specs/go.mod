module poet.local/apispecs

go 1.26
