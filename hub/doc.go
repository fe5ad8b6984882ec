// Package hub downloads files from the Hugging Face hub (or a mirror set with
// HF_ENDPOINT) for `rerank-api pull`.
//
// It knows the hub's URL layout ({endpoint}/{repo}/resolve/{revision}/{path}
// for files, {endpoint}/api/models/{repo}/revision/{revision} for listings),
// sends the token (HF_TOKEN) to the hub and never to the CDN the hub
// redirects to, follows redirects only to the hub's host and Hugging Face's
// own domains (redirect.go), routes requests through the proxy it is given
// (HTTP_PROXY/HTTPS_PROXY/NO_PROXY), and makes downloads safe to interrupt and
// repeat: bytes go to dest+".partial", are resumed with a Range request, are
// checked against the LFS sha256 when the hub gives one, and are renamed into
// place only when complete. Goroutines asking one Client for the same dest
// share one transfer; other clients and processes are kept apart by a lock
// file next to dest.
//
// The package only moves bytes. It must not convert checkpoints (convert/),
// decide which files a model needs or where models live (catalog/ and cmd/),
// read the environment (cmd passes envconfig's values to NewClient), or
// import server or backend code: it is a leaf, testable offline against a
// fake hub.
package hub
