#ifndef CLIBPQ_SHIM_H
#define CLIBPQ_SHIM_H
#include <libpq-fe.h>
/* The reactor that waits for libpq's sockets (Sources/Postgres/PostgresReactor.swift). */
#include <sys/epoll.h>
#endif
