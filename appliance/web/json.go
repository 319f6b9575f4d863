package web

import (
	"encoding/json"
	"io"
	"net/http"
)

// WriteJSON writes v as JSON with status, never cached: the answers the
// pages' scripts read.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// ReadJSON decodes a script's JSON body of at most max bytes into v.
func ReadJSON(r *http.Request, max int64, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, max)).Decode(v)
}
