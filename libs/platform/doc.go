// Package platform is the shared runtime every POET service starts from:
// configuration from the environment, a JSON logger that carries trace ids,
// OpenTelemetry tracing and metrics, and an HTTP server with health,
// readiness, metrics and graceful shutdown.
//
// It exists so that each service gets the same operational behaviour without
// re-implementing it: the same probes for Kubernetes, the same RFC 9457 error
// bodies, the same privacy rule for logs (method, route template, status and
// duration only — never query strings, headers or bodies, which can carry
// tokens and NHS numbers) and the same shutdown order (stop taking traffic,
// finish in-flight requests, stop background workers, then close resources).
package platform
