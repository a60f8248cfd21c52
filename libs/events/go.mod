module poet.local/libs/events

go 1.26
