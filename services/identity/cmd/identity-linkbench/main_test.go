package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"poet.local/services/identity/internal/domain/linkage"
)

const header = "record_id,person_id,service,age,organisation_id,local_id,nhs_number,upn,given_name,family_name,date_of_birth,sex,postcode\n"

func TestRunOnAFile(t *testing.T) {
	rows := header +
		"0,1,health,3,org_icb_north,H1,9434765919,,Amelia,Ashworth,2020-02-03,F,NB1 2AB\n" +
		"1,1,children,4,org_la_northbrook,C1,,,Amelia,Ashworth,2020-02-03,F,NB1 2AB\n" +
		"2,1,children,5,org_la_northbrook,C1,,,Millie,Ashworth,2020-02-03,F,NB1 3CD\n" +
		"3,2,adult,19,org_la_kexley,A7,,,Oscar,Pemberton,2001-11-12,M,KX2 5LT\n" +
		"4,3,adult,20,org_la_kexley,A8,,,Noah,Quigley,2000-01-30,M,KX3 1QQ\n"
	path := filepath.Join(t.TempDir(), "pop.csv")
	if err := os.WriteFile(path, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := linkage.DefaultConfig()
	cfg.RandomPairs = 1000
	var out bytes.Buffer
	if err := run(path, cfg, &out); err != nil {
		t.Fatal(err)
	}
	var got output
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	// Records 0-2 are one person (three true pairs): 1 and 2 share a local
	// id, 0 and 1 agree on every field.
	if got.Records != 5 || got.Quality.TruePairs != 3 || got.PeakRSSBytes <= 0 || len(got.Model.PerField) != int(linkage.NumFields) {
		t.Errorf("output %+v", got)
	}
	if got.Stats.DeterministicLocalID != 1 {
		t.Errorf("want one local-id link, got %+v", got.Stats)
	}
	var rowsSeen int
	for _, g := range got.Groups {
		rowsSeen += g.Records
	}
	if rowsSeen != 5 {
		t.Errorf("groups cover %d records", rowsSeen)
	}
}

func TestLoadRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	bad := map[string]string{
		"header.csv":  "id,name\n1,x\n",
		"service.csv": header + "0,1,school,3,o,l,,,A,B,2020-01-01,F,\n",
		"person.csv":  header + "0,x,health,3,o,l,,,A,B,2020-01-01,F,\n",
	}
	for name, body := range bad {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := load(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := run("", linkage.DefaultConfig(), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "-in") {
		t.Errorf("no file: %v", err)
	}
}
