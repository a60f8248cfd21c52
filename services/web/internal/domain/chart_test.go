package domain

import (
	"encoding/xml"
	"strconv"
	"strings"
	"testing"
)

func f(v float64) *float64 { return &v }

// svgNode is a generic parse of the chart, so the test reads the drawing
// the browser would, not the code's intermediate values.
type svgNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []svgNode  `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n svgNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n svgNode) num(t *testing.T, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attr(name), 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, n.attr(name), err)
	}
	return v
}

func rows(t *testing.T, svg string) map[string]svgNode {
	t.Helper()
	var root svgNode
	if err := xml.Unmarshal([]byte(svg), &root); err != nil {
		t.Fatalf("chart is not well-formed XML: %v\n%s", err, svg)
	}
	out := map[string]svgNode{}
	for _, n := range root.Nodes {
		if n.attr("class") == "poet-chart__row" {
			out[n.attr("data-domain")] = n
		}
	}
	return out
}

func child(n svgNode, class string) (svgNode, bool) {
	for _, c := range n.Nodes {
		if c.attr("class") == class {
			return c, true
		}
	}
	return svgNode{}, false
}

// Bars scale to the share over the 400-unit plot starting at x=220, and
// the whiskers sit at the interval's bounds: hand-worked, 0.6 → 240 wide,
// interval 0.35–0.81 → x 360 and 544.
func TestShareChartScalesBarsAndWhiskers(t *testing.T) {
	svg := ShareChart("Share better", []ShareBar{
		{Label: "Quality of life", Share: f(0.6), Low: f(0.35), High: f(0.81)},
		{Label: "Health", Share: f(1), Low: f(0.57), High: f(1)},
		{Label: "Home", Share: f(0)},
	})
	r := rows(t, svg)
	if len(r) != 3 {
		t.Fatalf("want 3 rows, got %d:\n%s", len(r), svg)
	}
	for _, c := range []struct {
		label         string
		width, lo, hi float64
		wantsInterval bool
	}{
		{"Quality of life", 240, 360, 544, true},
		{"Health", 400, 448, 620, true},
		{"Home", 0, 0, 0, false},
	} {
		row := r[c.label]
		bar, ok := child(row, "poet-chart__bar")
		if !ok {
			t.Fatalf("%s: no bar", c.label)
		}
		if x, w := bar.num(t, "x"), bar.num(t, "width"); x != 220 || w != c.width {
			t.Errorf("%s: bar x=%v width=%v, want x=220 width=%v", c.label, x, w, c.width)
		}
		iv, ok := child(row, "poet-chart__interval")
		if ok != c.wantsInterval {
			t.Fatalf("%s: interval drawn=%v, want %v", c.label, ok, c.wantsInterval)
		}
		if !ok {
			continue
		}
		whisker := iv.Nodes[0]
		if x1, x2 := whisker.num(t, "x1"), whisker.num(t, "x2"); x1 != c.lo || x2 != c.hi {
			t.Errorf("%s: whisker %v–%v, want %v–%v", c.label, x1, x2, c.lo, c.hi)
		}
		// The end caps stand at the same bounds.
		if l, h := iv.Nodes[1].num(t, "x1"), iv.Nodes[2].num(t, "x1"); l != c.lo || h != c.hi {
			t.Errorf("%s: caps at %v and %v, want %v and %v", c.label, l, h, c.lo, c.hi)
		}
	}
}

// A withheld domain is said to be not shown, with no bar or whisker that
// could be read as a figure.
func TestShareChartDrawsWithheldDomainsAsText(t *testing.T) {
	svg := ShareChart("Share better", []ShareBar{{Label: "Choice & control", Share: nil, Low: f(0.1), High: f(0.2)}})
	row, ok := rows(t, svg)["Choice & control"]
	if !ok {
		t.Fatalf("row missing (label must be escaped and kept):\n%s", svg)
	}
	if _, ok := child(row, "poet-chart__bar"); ok {
		t.Fatal("a withheld domain has a bar")
	}
	if _, ok := child(row, "poet-chart__interval"); ok {
		t.Fatal("a withheld domain has whiskers")
	}
	w, ok := child(row, "poet-chart__withheld")
	if !ok || !strings.Contains(w.Text, "[c]") || !strings.Contains(w.Text, "not shown") {
		t.Fatalf("withheld text missing: %+v", w)
	}
	if !strings.Contains(svg, `role="img"`) || !strings.Contains(svg, "<title") || !strings.Contains(svg, "<desc") {
		t.Fatal("chart lost its accessible name or description")
	}
}

func TestDomainLabelAndPercent(t *testing.T) {
	if got := DomainLabel("quality-of-life"); got != "Quality of life" {
		t.Fatalf("DomainLabel = %q", got)
	}
	if got := Percent(0.625); got != "62%" && got != "63%" {
		t.Fatalf("Percent = %q", got)
	}
	if got := Percent(1.2); got != "100%" {
		t.Fatalf("Percent clamps: %q", got)
	}
}
