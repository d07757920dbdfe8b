package config_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/config"
)

type exampleVerifier struct{}

func (exampleVerifier) Verify(*hookd.Request) error { return nil }
func (exampleVerifier) Sign([]byte, string, time.Time) (http.Header, error) {
	return http.Header{}, nil
}
func (exampleVerifier) KeySources() []hookd.KeySource { return nil }

func ExampleParse() {
	data := []byte(`
services:
  github:
    verify: {scheme: github, secrets: ["${GITHUB_WEBHOOK_SECRET}"]}
    max_body: 5MiB
    actions:
      - forward: {url: "http://127.0.0.1:9000/github"}
  shop:
    verify: {scheme: shopify, secrets: ["${SHOP_SECRET}"]}
    actions: [noop]
`)
	environment := map[string]string{"GITHUB_WEBHOOK_SECRET": "s3cret"}
	lookup := func(k string) (string, bool) { v, ok := environment[k]; return v, ok }

	cfg, err := config.Parse(data, lookup)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg.ApplyEnv(lookup)
	for _, err := range cfg.Validate() {
		fmt.Println(err)
	}

	environment["SHOP_SECRET"] = "0ther"
	cfg, _ = config.Parse(data, lookup)
	services, err := cfg.Services(func(name string, v config.Verify) (hookd.Verifier, error) {
		return exampleVerifier{}, nil // cmd/hookd calls verify.New here
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range services {
		fmt.Println(s.Name, s.MaxBody, s.Actions[0].Type, s.Actions[0].MaxAttempts)
	}
	// Output:
	// services.shop.verify.secrets: no secret configured; set SHOP_SECRET (referenced as ${SHOP_SECRET})
	// github 5242880 forward 10
	// shop 1048576 noop 10
}

func ExampleIsLoopback() {
	fmt.Println(config.IsLoopback("127.0.0.1:8081"), config.IsLoopback(":8081"))
	// Output: true false
}
