package synthpop

import (
	"bufio"
	"encoding/csv"
	"io"
	"strconv"
)

// Header is the CSV header WriteCSV writes; identity-linkbench reads the
// same columns. person_id is the ground truth, service and age are for
// reporting; the engine sees only the identifiers.
var Header = []string{"record_id", "person_id", "service", "age", "organisation_id", "local_id", "nhs_number", "upn",
	"given_name", "family_name", "date_of_birth", "sex", "postcode"}

// WriteCSV writes records with Header.
func WriteCSV(w io.Writer, recs []Record) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := csv.NewWriter(bw)
	if err := cw.Write(Header); err != nil {
		return err
	}
	row := make([]string, len(Header))
	for i := range recs {
		r := &recs[i]
		row[0], row[1], row[2], row[3] = strconv.Itoa(r.ID), strconv.Itoa(r.Person), string(r.Service), strconv.Itoa(r.Age)
		row[4], row[5], row[6], row[7] = r.Organisation, r.LocalID, r.NHSNumber, r.UPN
		row[8], row[9], row[10], row[11], row[12] = r.GivenName, r.FamilyName, r.BirthDate, r.Sex, r.Postcode
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
