// Command csvimport sends a CSV file of paper returns to the survey service's
// import endpoint (POST /v1/campaigns/{id}/imports) and shows a progress bar:
//
//	go run ./tools/csvimport -url http://127.0.0.1:8081 -campaign cmp_... -token $TOKEN -file returns.csv
//
// The file is read as a stream and sent in chunks (each with the header row)
// below the server's request-size limit, so a file of any size goes through
// and a failed chunk is simply sent again: every row's idempotency key is its
// row_id, so nothing is stored twice, and running the whole file again is
// safe. Rows the service refuses are printed with their line in the file and
// the reason per column. The token may come from POET_TOKEN instead of
// -token, to keep it out of the process list.
//
// Exit status: 0 when every row was stored (now or before), 1 when some rows
// were refused, 2 when the import could not run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/schollz/progressbar/v3"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("csvimport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := Options{}
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8081", "survey service base URL")
	fs.StringVar(&o.Campaign, "campaign", "", "campaign id (cmp_...)")
	fs.StringVar(&o.Token, "token", "", "practitioner's bearer token (default $POET_TOKEN)")
	file := fs.String("file", "", "CSV file of paper returns, in the instrument's template format")
	fs.IntVar(&o.ChunkBytes, "chunk-bytes", DefaultChunkBytes, "largest request body; keep it under the server's HTTP_MAX_BODY_BYTES")
	fs.DurationVar(&o.Timeout, "timeout", time.Minute, "time allowed for one chunk")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.Token == "" {
		o.Token = os.Getenv("POET_TOKEN")
	}
	if o.Campaign == "" || *file == "" || o.Token == "" {
		fmt.Fprintln(stderr, "csvimport: -campaign, -file and -token (or POET_TOKEN) are required")
		fs.Usage()
		return 2
	}
	f, err := os.Open(*file)
	if err != nil {
		fmt.Fprintln(stderr, "csvimport:", err)
		return 2
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		fmt.Fprintln(stderr, "csvimport:", err)
		return 2
	}
	bar := progressbar.NewOptions64(st.Size(),
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("importing "+*file),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetVisibility(!*quiet),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }),
	)
	o.Progress = func(done int64) { _ = bar.Set64(done) }

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := Import(ctx, o, f)
	_ = bar.Finish()
	Report(stdout, res)
	if err != nil {
		fmt.Fprintln(stderr, "csvimport:", err)
		return 2
	}
	if res.Rejected > 0 {
		return 1
	}
	return 0
}
