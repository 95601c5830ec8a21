package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
)

// simScriptCmds give the scripts a simulator: `sim-start N [FAULTS]`
// starts one in-process with N conversations and sets $API, $LOGIN and the
// credentials in the environment, as a user would from its ready line;
// `sim-recording-export DIR` writes a damaged Recording export of its org
// to DIR (the API path of recording jobs is tested in internal/sim).
func simScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	// One simulator per script: scripts run in parallel, and each must
	// close its own, not the one another script started last.
	var mu sync.Mutex
	servers := map[*testscript.TestScript]*sim.Server{}
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"sim-start": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) < 1 || len(args) > 2 {
				ts.Fatalf("usage: sim-start N [FAULTS]")
			}
			n, err := strconv.Atoi(args[0])
			ts.Check(err)
			opts := sim.Options{OrgConfig: sim.OrgConfig{Seed: 4, Conversations: n, LegalHoldShare: 0.2, OtherMediaShare: 0.2}, ExtraClients: 2}
			if len(args) == 2 {
				opts.Faults = args[1]
			}
			srv, err := sim.Start(context.Background(), opts)
			ts.Check(err)
			mu.Lock()
			servers[ts] = srv
			mu.Unlock()
			ts.Defer(func() {
				srv.Close()
				mu.Lock()
				delete(servers, ts)
				mu.Unlock()
			})
			ts.Setenv("API", srv.APIURL)
			ts.Setenv("LOGIN", srv.LoginURL)
			ts.Setenv("GENESYSCLOUD_OAUTHCLIENT_ID", srv.ClientID)
			ts.Setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", srv.ClientSecret)
			// Two more OAuth clients: ids in CLIENT2 and CLIENT3, the
			// second's secret in its environment variable.
			ts.Setenv("CLIENT2", srv.Clients[1].ID)
			ts.Setenv("CLIENT3", srv.Clients[2].ID)
			ts.Setenv(clientSecretEnv(srv.Clients[1].ID), srv.Clients[1].Secret)
		},
		// sim-credentials FILE MODE: write the simulator's extra clients as a
		// credentials file with that mode (octal).
		"sim-credentials": func(ts *testscript.TestScript, neg bool, args []string) {
			mu.Lock()
			srv := servers[ts]
			mu.Unlock()
			if neg || len(args) != 2 || srv == nil {
				ts.Fatalf("usage: sim-credentials FILE MODE (after sim-start)")
			}
			mode, err := strconv.ParseUint(args[1], 8, 32)
			ts.Check(err)
			var b strings.Builder
			b.WriteString("# the simulator's extra clients\n")
			for _, c := range srv.Clients[1:] {
				b.WriteString(c.ID + ":" + c.Secret + "\n")
			}
			p := ts.MkAbs(args[0])
			ts.Check(os.WriteFile(p, []byte(b.String()), os.FileMode(mode)))
			ts.Check(os.Chmod(p, os.FileMode(mode)))
		},
		"sim-recording-export": func(ts *testscript.TestScript, neg bool, args []string) {
			mu.Lock()
			srv := servers[ts]
			mu.Unlock()
			if neg || len(args) != 1 || srv == nil {
				ts.Fatalf("usage: sim-recording-export DIR (after sim-start)")
			}
			t, err := recexport.OpenTarget(context.Background(), ts.MkAbs(args[0]), s3util.Config{})
			ts.Check(err)
			_, err = recexport.Export(context.Background(), srv.Org, nil, t, recexport.DefaultProfile(recexport.ShapeGenesys, 4))
			ts.Check(err)
		},
	}
}
