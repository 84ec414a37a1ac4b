/*
** Forwarding header: libsluice-fn's public interface now lives in
** include/sluice_fn_host.h. Kept only for src/transforms/function.c, which
** still includes this path; delete once that include is updated.
*/
#include "../../include/sluice_fn_host.h"
