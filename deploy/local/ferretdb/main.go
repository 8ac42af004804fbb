// Command ferretdb runs FerretDB v1 embedded on a local TCP port, on PostgreSQL (-postgresql URL)
// or, without it, on SQLite files (-data DIR).
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
	postgresURL := flag.String("postgresql", "", "PostgreSQL URL, e.g. postgres://ferretdb@127.0.0.1:5433/ferretdb")
	dataDir := flag.String("data", "", "absolute path of an existing directory for SQLite files (without -postgresql)")
	flag.Parse()

	config := ferretdb.Config{Listener: ferretdb.ListenerConfig{TCP: *listen}}
	where := ""
	switch {
	case *postgresURL != "":
		config.Handler, config.PostgreSQLURL, where = "postgresql", *postgresURL, "PostgreSQL at "+*postgresURL
	case *dataDir != "":
		config.Handler, config.SQLiteURL, where = "sqlite", "file:"+*dataDir+"/", "SQLite in "+*dataDir
	default:
		log.Fatal("-postgresql or -data is required")
	}

	db, err := ferretdb.New(&config)
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Printf("ferretdb listening on %s, data in %s", *listen, where)
	db.Run(ctx)
}
