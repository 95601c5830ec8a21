package main

import (
	"context"
	"strconv"
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
			opts := sim.Options{OrgConfig: sim.OrgConfig{Seed: 4, Conversations: n, LegalHoldShare: 0.2, OtherMediaShare: 0.2}}
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
