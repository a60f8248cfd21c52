// Package apispecs embeds the platform's contracts so that every service and
// tool reads the same bytes: JSON Schemas of events, instrument definitions,
// scoring rules and each service's OpenAPI document. It holds no behaviour
// beyond naming topics and event types, which are part of the contract too.
package apispecs

import (
	"embed"
	"io/fs"
)

//go:embed events instruments scoring */openapi.yaml asyncapi.yaml instrument.schema.json
var files embed.FS

// Events holds the JSON Schemas of every event, one file per CloudEvents type.
func Events() fs.FS { return sub("events") }

// Instruments holds the versioned instrument definitions (YAML).
func Instruments() fs.FS { return sub("instruments") }

// InstrumentSchema returns the JSON Schema (draft 2020-12) every
// instrument file is valid against.
func InstrumentSchema() []byte {
	b, err := files.ReadFile("instrument.schema.json")
	if err != nil {
		panic(err) // embedded at build time; absence is a build bug
	}
	return b
}

// ScoringRules holds the versioned scoring rules (YAML).
func ScoringRules() fs.FS { return sub("scoring") }

// OpenAPI returns the OpenAPI 3.1 document of a service ("survey", ...).
func OpenAPI(service string) ([]byte, error) { return files.ReadFile(service + "/openapi.yaml") }

// AsyncAPI returns the AsyncAPI document describing every topic.
func AsyncAPI() ([]byte, error) { return files.ReadFile("asyncapi.yaml") }

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the directory is embedded at build time; absence is a build bug
	}
	return f
}
