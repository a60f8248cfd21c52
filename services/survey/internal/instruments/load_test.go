package instruments

import (
	"testing"
	"testing/fstest"

	"poet.local/apispecs"
)

func TestShippedInstrumentsLoadAndCheck(t *testing.T) {
	ins, err := Load(apispecs.Instruments())
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) == 0 {
		t.Fatal("no instruments shipped")
	}
	for _, in := range ins {
		for _, q := range in.Questions() {
			if q.Text == "" || q.EasyRead == "" {
				t.Errorf("%s: question %s lacks text or an easy-read wording", in.Key(), q.ID)
			}
		}
	}
}

func TestMisspeltKeysAreRejected(t *testing.T) {
	fsys := fstest.MapFS{"x.yaml": {Data: []byte("id: x\nversion: 1.0.0\nsectoins: []\n")}}
	if _, err := Load(fsys); err == nil {
		t.Fatal("an instrument with a misspelt key loaded")
	}
}
