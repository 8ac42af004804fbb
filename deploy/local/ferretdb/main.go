// Command ferretdb runs FerretDB v1 embedded, with the SQLite backend, on a local TCP port.
// `go install github.com/FerretDB/FerretDB/cmd/ferretdb` builds but panics at start (its version
// file is generated at release time), so the library entry point is used instead.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("data", "", "absolute path of an existing directory for the SQLite files")
	flag.Parse()
	if *dataDir == "" {
		log.Fatal("-data is required")
	}

	db, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:   "sqlite",
		SQLiteURL: "file:" + *dataDir + "/",
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Printf("ferretdb listening on %s, data in %s", *listen, *dataDir)
	db.Run(ctx)
}
