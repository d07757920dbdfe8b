package verify_test

import (
	"fmt"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/verify"
)

func ExampleNew() {
	v, err := verify.New(verify.Config{
		Scheme:  verify.SchemeGitHub,
		Secrets: []string{"It's a Secret to Everybody"},
	})
	if err != nil {
		panic(err)
	}
	body := []byte("Hello, World!")
	h, _ := v.Sign(body, "", time.Now())
	fmt.Println(h.Get("X-Hub-Signature-256"))

	fmt.Println(v.Verify(&hookd.Request{Header: h, Body: body}))
	err = v.Verify(&hookd.Request{Header: h, Body: []byte("Hello, World?")})
	fmt.Println(hookd.ErrorCode(err))
	fmt.Println(hookd.ErrorMessage(err))
	// Output:
	// sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17
	// <nil>
	// invalid-signature
	// the X-Hub-Signature-256 header does not match the request for any configured secret
}

func ExampleTwilioURL() {
	v, err := verify.New(verify.Config{
		Scheme:  verify.SchemeTwilio,
		Secrets: []string{"12345"}, // Twilio's published test token
		// Real auth tokens are 32 characters; the test token is short.
		AllowShortSecrets: true,
		URL:               "https://mycompany.com/myapp.php?foo=1&bar=2",
	})
	if err != nil {
		panic(err)
	}
	body := []byte(`{"property": "value", "boolean": true}`)
	target := verify.TwilioURL("https://mycompany.com/myapp.php?foo=1&bar=2", body)
	h, _ := v.Sign(body, target, time.Now())
	fmt.Println(target)
	fmt.Println(h.Get("X-Twilio-Signature"))
	// Output:
	// https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620
	// a9nBmqA0ju/hNViExpshrM61xv4=
}
