package verify

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestShape(t *testing.T) {
	t.Parallel()
	hex64 := strings.Repeat("0a", 32)
	b64 := "K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
	for in, want := range map[string]string{
		"sha256=" + hex64:          "sha256=<64 hex>",
		strings.ToUpper(hex64):     "<64 HEX>",
		"t=1700000000,v1=" + hex64: "t=<10 digits>,v1=<64 hex>",
		"v1," + b64 + " v1," + b64: "v1,<44 base64> v1,<44 base64>",
		"v0=" + hex64[:10] + "Z":   "v0=<11 base64>",
		"abc_-def":                 "<8 base64url>",
		strings.Repeat("1,", 40):   strings.Repeat("<1 digits>,", 8) + "…",
		"Bearer tok\"en\n":         "<6 base64> <7 chars>",
		"ZmFrZQ":                   "<6 base64>",
	} {
		if got := Shape(in); got != want {
			t.Errorf("Shape(%q) = %q, want %q", in, got, want)
		}
	}
}

// The timestamped schemes' diagnoses find the common mistakes too.
func TestDiagnoseTimestampedSchemes(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"id":"evt_1"}`)
	for _, c := range []struct {
		name             string
		verifier, signer Config
		body             []byte // what the sender signed
		want             string
	}{
		{"stripe newline", Config{Scheme: SchemeStripe, Secrets: []string{"whsec_a-long-enough-secret"}}, Config{Scheme: SchemeStripe, Secrets: []string{"whsec_a-long-enough-secret"}},
			append(slices.Clone(body), '\n'), "the body ended with a newline"},
		{"slack whitespace", Config{Scheme: SchemeSlack, Secrets: []string{"slack-signing-secret\n"}}, Config{Scheme: SchemeSlack, Secrets: []string{"slack-signing-secret"}},
			body, "the secret had no surrounding whitespace"},
	} {
		c.verifier.Now, c.signer.Now = at(now.Unix()), at(now.Unix())
		v, s := newVerifier(t, c.verifier), newVerifier(t, c.signer)
		h, err := s.Sign(c.body, "", now)
		if err != nil {
			t.Fatal(err)
		}
		r := request(t, h, body, "")
		if v.Verify(r) == nil {
			t.Fatalf("%s: Verify accepted the request", c.name)
		}
		d := v.(Diagnoser).Diagnose(r)
		if !slices.Contains(d.WouldMatchIf, c.want) || d.BodyLength != len(body) {
			t.Errorf("%s: diagnosis %+v, want %q", c.name, d, c.want)
		}
	}

	// Standard Webhooks: the sender keyed the MAC with the secret's text.
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	v := newVerifier(t, Config{Scheme: SchemeStandardWebhooks, Secrets: []string{secret}, Now: at(now.Unix())}).(*StandardWebhooks)
	id, ts := "msg_1", "1700000000"
	sig := swMAC([]byte(secret), swContent(id, ts, body))
	r := request(t, headers(swID, id, swTimestamp, ts, swSignature, "v1,"+encodeMAC("base64", sig)), body, "")
	if v.Verify(r) == nil {
		t.Fatal("Verify accepted a MAC keyed with the secret's text")
	}
	d := v.Diagnose(r)
	if len(d.WouldMatchIf) != 1 || !strings.Contains(d.WouldMatchIf[0], "text were the key") || d.HeaderShape != "v1,<44 base64>" {
		t.Errorf("diagnosis %+v", d)
	}
}

func TestSkew(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, Config{Scheme: SchemeStripe, Secrets: []string{"whsec_a-long-enough-secret"}, Now: at(1_700_000_000)})
	h, _ := v.(*Stripe).Sign([]byte("{}"), "", time.Unix(1_700_000_000-400, 0))
	err := v.Verify(request(t, h, []byte("{}"), ""))
	if skew, ok := Skew(err); !ok || skew != 400*time.Second {
		t.Fatalf("Skew(%v) = %s, %v; want 400s", err, skew, ok)
	}
	checkErr(t, err, "timestamp-out-of-tolerance", ErrTimestampOutOfTolerance)
}
