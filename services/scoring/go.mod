module poet.local/services/scoring

go 1.26
