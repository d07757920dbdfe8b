package main

import "github.com/hookd/hookd/server"

// The tests start servers by the names they had when Main lived here.
type Main = server.Main

const (
	roleAll    = server.RoleAll
	roleIngest = server.RoleIngest
	roleWorker = server.RoleWorker
)
