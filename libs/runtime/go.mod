module poet.local/libs/runtime

go 1.26

require (
	poet.local/apispecs v0.0.0
	poet.local/libs/authn v0.0.0
	poet.local/libs/events v0.0.0
	poet.local/libs/platform v0.0.0
	poet.local/libs/storage v0.0.0
)

replace (
	poet.local/apispecs => ../../api-specs
	poet.local/libs/authn => ../authn
	poet.local/libs/events => ../events
	poet.local/libs/platform => ../platform
	poet.local/libs/storage => ../storage
)
