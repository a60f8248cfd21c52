module poet.local/services/reporting

go 1.26
