package samltest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"strconv"
	"time"

	"github.com/beevik/etree"
)

// Attack is one answer a service provider must refuse. Build makes it from
// the good answer a (InResponseTo already the request's id).
type Attack struct {
	Name  string
	Build func(a Answer) []byte
}

// Attacks is the corpus: wrong signatures, conditions and addresses,
// unsolicited and unknown answers, the XML shapes parsers have been fooled
// with, and the signature wrapping attacks XSW1–XSW8 (Somorovsky et al.,
// "On Breaking SAML", 2012): the signed original is kept where a
// signature check may find it and an evil element put where the
// application reads.
func (p *IdP) Attacks() []Attack {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	with := func(fn func(*Answer)) func(Answer) []byte {
		return func(a Answer) []byte {
			fn(&a)
			return XML(p.Response(a))
		}
	}
	// evil is an unsigned assertion for the attacker's NameID.
	evil := func(a Answer) *etree.Element {
		a.SignAssertion, a.NameID = false, "admin"
		a.Attributes = map[string]string{"displayName": "Admin", "mail": "admin"}
		return p.Assertion(a)
	}
	sameID := func(dst, src *etree.Element) *etree.Element {
		dst.RemoveAttr("ID")
		dst.CreateAttr("ID", src.SelectAttrValue("ID", ""))
		return dst
	}
	unsigned := func(s *etree.Element) *etree.Element {
		c := s.Copy()
		c.RemoveChild(c.FindElement("./ds:Signature"))
		return c
	}
	out := []Attack{
		{"unsigned assertion", with(func(a *Answer) { a.SignAssertion = false })},
		{"unsigned assertion in a signed response", with(func(a *Answer) { a.SignAssertion, a.SignResponse = false, true })},
		{"signed by another key", with(func(a *Answer) { a.SignWith = other })},
		{"sha-1 signature", with(func(a *Answer) { a.SHA1 = true })},
		{"wrong audience", with(func(a *Answer) { a.Audience = "https://evil.example/saml/metadata" })},
		{"wrong destination", with(func(a *Answer) { a.Recipient = a.Destination; a.Destination = "https://evil.example/saml/acs" })},
		{"wrong recipient", with(func(a *Answer) { a.Recipient = "https://evil.example/saml/acs" })},
		{"expired", with(func(a *Answer) {
			if a.IssueInstant.IsZero() {
				a.IssueInstant = time.Now()
			}
			a.IssueInstant = a.IssueInstant.Add(-20 * time.Minute)
			a.NotOnOrAfter = a.IssueInstant.Add(10 * time.Minute)
		})},
		{"another issuer", with(func(a *Answer) { a.Issuer = "https://evil.example/idp" })},
		{"failed status", with(func(a *Answer) { a.Status = "urn:oasis:names:tc:SAML:2.0:status:Requester" })},
		{"unsolicited", with(func(a *Answer) { a.InResponseTo = "" })},
		{"unknown request", with(func(a *Answer) { a.InResponseTo = "id-not-ours" })},
		{"comment in NameID", func(a Answer) []byte {
			a.NameID = "admin@example.org.evil"
			return bytes.Replace(XML(p.Response(a)), []byte("admin@example.org"), []byte("admin@example.org<!---->"), 1)
		}},
		{"two assertions", func(a Answer) []byte { return XML(p.Response(a, p.Assertion(a), p.Assertion(a))) }},
		{"duplicate IDs", func(a Answer) []byte {
			r := p.Response(a)
			r.CreateElement("samlp:Extensions").CreateAttr("ID", r.SelectAttrValue("ID", ""))
			return XML(r)
		}},
		{"doctype", func(a Answer) []byte {
			return append([]byte(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>`), XML(p.Response(a))...)
		}},
		{"encrypted assertion", func(a Answer) []byte { return XML(p.Response(a, etree.NewElement("saml:EncryptedAssertion"))) }},
	}
	xsw := []func(a Answer) []byte{
		// 1: a signed response; an unsigned copy wraps the original inside its signature.
		func(a Answer) []byte {
			a.SignResponse, a.SignAssertion = true, false
			orig := p.Response(a)
			ev := orig.Copy()
			ev.RemoveAttr("ID")
			ev.CreateAttr("ID", "_evil")
			ev.RemoveChild(ev.FindElement("./ds:Signature"))
			sig := orig.FindElement("./ds:Signature").Copy()
			sig.AddChild(orig)
			ev.InsertChildAt(1, sig)
			return XML(ev)
		},
		// 2: as 1, the original beside the signature.
		func(a Answer) []byte {
			a.SignResponse, a.SignAssertion = true, false
			orig := p.Response(a)
			ev := orig.Copy()
			ev.RemoveAttr("ID")
			ev.CreateAttr("ID", "_evil")
			ev.InsertChildAt(1, orig)
			return XML(ev)
		},
		// 3: the evil assertion before the signed one, same ID.
		func(a Answer) []byte {
			s := p.Assertion(a)
			return XML(p.Response(a, sameID(evil(a), s), s))
		},
		// 4: the signed assertion inside the evil one.
		func(a Answer) []byte {
			s := p.Assertion(a)
			e := sameID(evil(a), s)
			e.AddChild(s)
			return XML(p.Response(a, e))
		},
		// 5: the evil assertion carries the signature; the original sits apart.
		func(a Answer) []byte {
			s := p.Assertion(a)
			e := sameID(evil(a), s)
			e.InsertChildAt(1, s.FindElement("./ds:Signature").Copy())
			return XML(p.Response(a, e, unsigned(s)))
		},
		// 6: as 5, the original inside the signature's Object.
		func(a Answer) []byte {
			s := p.Assertion(a)
			e := sameID(evil(a), s)
			sig := s.FindElement("./ds:Signature").Copy()
			sig.CreateElement("ds:Object").AddChild(unsigned(s))
			e.InsertChildAt(1, sig)
			return XML(p.Response(a, e))
		},
		// 7: the signed assertion hidden in an Extensions element.
		func(a Answer) []byte {
			r := p.Response(a, evil(a))
			ext := etree.NewElement("samlp:Extensions")
			ext.AddChild(p.Assertion(a))
			r.InsertChildAt(1, ext)
			return XML(r)
		},
		// 8: the evil assertion's signature holds the original, unsigned, in an Object.
		func(a Answer) []byte {
			s := p.Assertion(a)
			e := sameID(evil(a), s)
			sig := s.FindElement("./ds:Signature").Copy()
			obj := sig.CreateElement("ds:Object")
			obj.AddChild(unsigned(s))
			e.InsertChildAt(1, sig)
			return XML(p.Response(a, e))
		},
	}
	for i, build := range xsw {
		out = append(out, Attack{Name: "XSW" + strconv.Itoa(i+1), Build: build})
	}
	return out
}
