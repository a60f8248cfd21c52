module poet.local/services/survey

go 1.26
