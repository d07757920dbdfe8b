package store

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

func TestEncodeHeader(t *testing.T) {
	header := http.Header{
		"Content-Type":        {"application/json"},
		"X-Multi":             {"a", `b"c\d`, "e\x00f"},
		"X-Latin1":            {"caf\xe9 <&>"}, // not UTF-8
		"X-Empty":             {},
		"Authorization":       {"Bearer secret"},
		"authorization":       {"Basic c2VjcmV0"}, // not canonical: still kept out
		"Proxy-Authorization": {"secret"},
		"Cookie":              {"session=secret"},
	}
	got := EncodeHeader(header)
	if !json.Valid(got) {
		t.Fatalf("EncodeHeader = %s, not valid JSON", got)
	}
	if bytes.Contains(got, []byte("secret")) || bytes.Contains(got, []byte("c2VjcmV0")) {
		t.Errorf("EncodeHeader = %s, holds a credential", got)
	}
	// What encoding/json makes of the kept headers.
	kept := http.Header{}
	for k, v := range header {
		if k != "Authorization" && k != "authorization" && k != "Proxy-Authorization" && k != "Cookie" {
			kept[k] = v
		}
	}
	wantJSON, _ := json.Marshal(kept)
	var g, w map[string][]string
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(wantJSON, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("EncodeHeader decodes to %q, encoding/json's to %q", g, w)
	}
}

func TestLastError(t *testing.T) {
	for in, want := range map[string]string{
		`[{"error":"421 try later"},{"error":"550 5.1.1 user unknown"}]`: "550 5.1.1 user unknown",
		`[{"error":"JobCancelError: email: 550 5.1.1 user unknown"}]`:    "email: 550 5.1.1 user unknown", // written by earlier versions
		`[]`:   "",
		`null`: "",
	} {
		if got := LastError([]byte(in)); got != want {
			t.Errorf("LastError(%s) = %q, want %q", in, got, want)
		}
	}
}
