module poet.local/libs/authn

go 1.26
