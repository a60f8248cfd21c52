package domain

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
	"time"
)

// A small instrument in survey's JSON: a required choice with a follow-up
// (equals), a multi-choice with an options_from follow-up, an "in" follow-up,
// and one question of each typed input.
const testInstrument = `{"id":"t","version":"1.0.0","title":"T","sections":[
 {"id":"a","title":"A","questions":[
  {"id":"has-budget","type":"single-choice","required":true,"text":"Budget?","easy_read":"Money?","options":[{"code":"yes","text":"Yes"},{"code":"no","text":"No"}]},
  {"id":"holding","type":"single-choice","required":true,"text":"How held?","easy_read":"Who keeps it?","show_if":{"question":"has-budget","equals":"yes"},"options":[{"code":"dp","text":"Direct payment"}]},
  {"id":"reasons","type":"multi-choice","text":"Why?","easy_read":"Why?","options":[{"code":"r1","text":"One"},{"code":"r2","text":"Two"},{"code":"r3","text":"Three"}]},
  {"id":"main","type":"single-choice","options_from":"reasons","text":"Main?","easy_read":"Main?"}]},
 {"id":"b","title":"B","questions":[
  {"id":"plan","type":"process","text":"Help to plan?","easy_read":"Help?"},
  {"id":"who","type":"multi-choice","required":true,"text":"Who helped?","easy_read":"Who?","show_if":{"question":"plan","in":["yes","partly"]},"options":[{"code":"w","text":"Worker"}]},
  {"id":"score","type":"scale","min":0,"max":10,"text":"Score","easy_read":"Score"},
  {"id":"age","type":"age","text":"Age","easy_read":"Age"},
  {"id":"since","type":"date","text":"Since","easy_read":"Since"},
  {"id":"more","type":"text","max_length":5,"text":"More","easy_read":"More"}]}]}`

func instrument(t *testing.T) Instrument {
	var in Instrument
	if err := json.Unmarshal([]byte(testInstrument), &in); err != nil {
		t.Fatal(err)
	}
	return in
}

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestAskedFollowsSkipLogicInOrder(t *testing.T) {
	in := instrument(t)
	got := in.Asked(Answers{"has-budget": "no", "reasons": []any{}, "plan": "partly"})
	want := map[string]bool{"has-budget": true, "holding": false, "reasons": true, "main": false, "plan": true, "who": true, "score": true, "age": true, "since": true, "more": true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("asked = %v, want %v", got, want)
	}
	got = in.Asked(Answers{"has-budget": "yes", "reasons": []any{"r2"}, "plan": "no"})
	if !got["holding"] || !got["main"] || got["who"] {
		t.Fatalf("asked = %v", got)
	}
	// Prune drops answers whose condition no longer holds, and unknown ids.
	p := in.Prune(Answers{"has-budget": "no", "holding": "dp", "x": "y", "plan": "yes", "who": []any{"w"}})
	if !reflect.DeepEqual(p, Answers{"has-budget": "no", "plan": "yes", "who": []any{"w"}}) {
		t.Fatalf("pruned = %v", p)
	}
}

func TestChoicesOfAFollowUpAreTheTickedOptions(t *testing.T) {
	in := instrument(t)
	q, _, _ := in.Question("main")
	got := in.Choices(q, Answers{"reasons": []any{"r3", "r1"}})
	if !reflect.DeepEqual(got, []Option{{"r1", "One"}, {"r3", "Three"}}) {
		t.Fatalf("choices = %v", got)
	}
	s, _, _ := in.Question("score")
	if c := in.Choices(s, nil); len(c) != 11 || c[0].Code != "0" || c[10].Code != "10" {
		t.Fatalf("scale choices = %v", c)
	}
}

func TestReadSectionTypesAnswersAndReportsMissingRequired(t *testing.T) {
	in := instrument(t)
	form := url.Values{"has-budget": {"yes"}, "reasons": {"r1", "r2", "r1"}, "main": {"r2"}}
	got, _, errs := in.ReadSection(0, form, Answers{}, now)
	if !reflect.DeepEqual(got, Answers{"has-budget": "yes", "reasons": []any{"r1", "r2"}, "main": "r2"}) {
		t.Fatalf("answers = %v", got)
	}
	if len(errs) != 1 || errs[0].Question != "holding" || errs[0].Message != "Select an answer: How held?" {
		t.Fatalf("errs = %v", errs)
	}
	// "No" hides the follow-up: its stale answer is dropped, no error.
	got, _, errs = in.ReadSection(0, url.Values{"has-budget": {"no"}, "holding": {"dp"}}, Answers{}, now)
	if len(errs) != 0 || !reflect.DeepEqual(got, Answers{"has-budget": "no"}) {
		t.Fatalf("answers = %v errs = %v", got, errs)
	}

	form = url.Values{"plan": {"yes"}, "who": {"w"}, "score": {"7"}, "age": {"34"}, "since-day": {"3"}, "since-month": {"2"}, "since-year": {"2024"}, "more": {" ok \r\n"}}
	got, _, errs = in.ReadSection(1, form, Answers{"has-budget": "no"}, now)
	want := Answers{"has-budget": "no", "plan": "yes", "who": []any{"w"}, "score": 7.0, "age": 34.0, "since": "2024-02-03", "more": "ok"}
	if len(errs) != 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("answers = %v errs = %v", got, errs)
	}

	form = url.Values{"plan": {"no"}, "score": {"11"}, "age": {"3.5"}, "since-day": {"31"}, "since-month": {"2"}, "since-year": {"2024"}, "more": {"toolong"}}
	_, raw, errs := in.ReadSection(1, form, Answers{}, now)
	msgs := map[string]string{}
	for _, e := range errs {
		msgs[e.Question] = e.Message
	}
	wantMsgs := map[string]string{
		"score": "Enter a number from 0 to 10",
		"age":   "Enter a whole number from 0 to 120",
		"since": "Enter a real date, like 31 3 2024",
		"more":  "Enter 5 characters or fewer",
	}
	if !reflect.DeepEqual(msgs, wantMsgs) {
		t.Fatalf("errors = %v", msgs)
	}
	if raw["since-day"] != "31" || raw["age"] != "3.5" {
		t.Fatalf("raw input not kept for re-display: %v", raw)
	}
	// A future date is refused as survey would.
	_, _, errs = in.ReadSection(1, url.Values{"since-day": {"1"}, "since-month": {"1"}, "since-year": {"2027"}}, Answers{}, now)
	if len(errs) != 1 || errs[0].Message != "Enter a date that is not in the future" {
		t.Fatalf("future date: %v", errs)
	}
}

func TestMissingFindsTheFirstSectionWithABlankRequiredQuestion(t *testing.T) {
	in := instrument(t)
	si, errs := in.Missing(Answers{"has-budget": "no", "plan": "yes"})
	if si != 1 || len(errs) != 1 || errs[0].Question != "who" {
		t.Fatalf("missing = %d %v", si, errs)
	}
	if si, _ := in.Missing(Answers{"has-budget": "no"}); si != -1 {
		t.Fatalf("nothing missing, got section %d", si)
	}
}

func TestDisplayWordsAnswers(t *testing.T) {
	in := instrument(t)
	a := Answers{"reasons": []any{"r1", "r3"}, "plan": "partly", "since": "2024-02-03", "score": 7.0}
	for id, want := range map[string][]string{"reasons": {"One", "Three"}, "plan": {"Partly"}, "since": {"3 February 2024"}, "score": {"7"}, "age": nil} {
		q, _, _ := in.Question(id)
		if got := in.Display(q, a); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", id, got, want)
		}
	}
}

func TestQuestionOfPointer(t *testing.T) {
	for p, want := range map[string]string{"/answers/age": "age", "/answers/a~1b~0c": "a/b~c", "/mode": "", "/answers/": ""} {
		got, ok := QuestionOfPointer(p)
		if got != want || ok != (want != "") {
			t.Errorf("%s: %q %v", p, got, ok)
		}
	}
}
