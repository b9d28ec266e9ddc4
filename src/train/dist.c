/*
 * train/dist.c - the ranks of data-parallel training over MPI (see
 * dist.h): joining them, sums of vectors, broadcast, agreeing on a status.
 *
 * warden talks MPI on its own duplicate of MPI_COMM_WORLD with the error
 * handler MPI_ERRORS_RETURN, so a failed call becomes a wd_status (the
 * library never exits) and a host program's own MPI traffic never meets
 * ours. Sums go through rank 0 (reduce in double, then broadcast the
 * rounded floats) rather than MPI_Allreduce: the MPI standard lets an
 * allreduce hand different ranks differently rounded results, and ranks
 * whose weights drift apart by one bit are no longer training one model.
 */
#include "train/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef WD_HAVE_MPI
#include <mpi.h>
#endif

static struct {
    bool done;      /* init ran                     */
    wd_status rc;   /* what it found                */
    int  rank, size;
#ifdef WD_HAVE_MPI
    MPI_Comm comm;
    bool     ours;  /* we called MPI_Init            */
    double  *work;  /* (n_work) reduction scratch    */
    size_t   n_work;
#endif
} g_dist = {.size = 1};

/* The number of ranks a launcher announced in the environment (0: none):
 * Open MPI's mpirun, a PMI launcher (MPICH's hydra, srun --mpi=pmi2), or a
 * Slurm job step (srun -n N, which with --mpi=pmix sets no size of its own). */
static long launched_size(const char **var) {
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *s = getenv(vars[i]);
        if (s && *s) {
            *var = vars[i];
            return strtol(s, NULL, 10);
        }
    }
    return 0;
}

#ifdef WD_HAVE_MPI
/* Elements per MPI call: counts are ints, and the scratch stays small. */
#define CHUNK ((size_t)1 << 20)

static void finalize(void) {
    int fin = 0;
    MPI_Finalized(&fin);
    if (fin) return;
    if (g_dist.comm != MPI_COMM_NULL) MPI_Comm_free(&g_dist.comm);
    free(g_dist.work);
    if (g_dist.ours) MPI_Finalize();
}

static wd_status mpi_fail(wd__err *err, int code, const char *what) {
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(code, msg, &len);
    return wd__err_set(err, WD_ERR_IO, "train: MPI %s failed on rank %d: %s", what, g_dist.rank, msg);
}

static wd_status init_mpi(wd__err *err, long want, const char *var) {
    int inited = 0, got = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        if (want <= 1) return WD_OK; /* a plain process: one rank, no MPI */
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &got) != MPI_SUCCESS)
            return wd__err_set(err, WD_ERR_IO, "train: MPI_Init_thread failed (%s=%ld)", var, want);
        g_dist.ours = true;
    }
    g_dist.comm = MPI_COMM_NULL;
    atexit(finalize);
    if (MPI_Comm_dup(MPI_COMM_WORLD, &g_dist.comm) != MPI_SUCCESS)
        return wd__err_set(err, WD_ERR_IO, "train: MPI_Comm_dup failed");
    MPI_Comm_set_errhandler(g_dist.comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(g_dist.comm, &g_dist.rank);
    MPI_Comm_size(g_dist.comm, &g_dist.size);
    if (want > 1 && g_dist.size != want) {
        int n = g_dist.size;
        g_dist.rank = 0, g_dist.size = 1;
        return wd__err_set(err, WD_ERR_UNSUPPORTED,
                           "train: the launcher started %ld ranks (%s=%ld) but MPI sees %d: was warden "
                           "started by the mpirun of the MPI it was built with (Open MPI)?",
                           want, var, want, n);
    }
    return WD_OK;
}
#endif

wd_status wd__dist_init(wd__err *err) {
    if (g_dist.done) {
        if (g_dist.rc) wd__err_set(err, g_dist.rc, "train: MPI could not start earlier in this process");
        return g_dist.rc;
    }
    g_dist.done = true;
    const char *var = "";
    long want = launched_size(&var);
#ifdef WD_HAVE_MPI
    g_dist.rc = init_mpi(err, want, var);
#else
    if (want > 1)
        g_dist.rc = wd__err_set(err, WD_ERR_UNSUPPORTED,
                                "train: started as one of %ld ranks (%s=%ld) but this warden was "
                                "built without MPI: install libopenmpi-dev (scripts/setup.sh) and "
                                "rebuild, or run one process without mpirun",
                                want, var, want);
#endif
    return g_dist.rc;
}

int wd__dist_rank(void) { return g_dist.rank; }
int wd__dist_size(void) { return g_dist.size; }
bool wd__dist_root(void) { return g_dist.rank == 0; }

wd_status wd__dist_sum_f32(float *x, size_t n, wd__err *err) {
    if (g_dist.size <= 1 || n == 0) return WD_OK;
#ifdef WD_HAVE_MPI
    size_t c = n < CHUNK ? n : CHUNK;
    if (g_dist.n_work < 2 * c) {
        double *w = realloc(g_dist.work, 2 * c * sizeof *w);
        if (!w) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
        g_dist.work = w, g_dist.n_work = 2 * c;
    }
    double *in = g_dist.work, *out = g_dist.work + c;
    for (size_t i = 0; i < n; i += c) {
        int k = (int)(n - i < c ? n - i : c);
        for (int j = 0; j < k; j++) in[j] = x[i + j];
        int e = MPI_Reduce(in, out, k, MPI_DOUBLE, MPI_SUM, 0, g_dist.comm);
        if (e != MPI_SUCCESS) return mpi_fail(err, e, "reduce");
        if (g_dist.rank == 0)
            for (int j = 0; j < k; j++) x[i + j] = (float)out[j];
        if ((e = MPI_Bcast(x + i, k, MPI_FLOAT, 0, g_dist.comm)) != MPI_SUCCESS)
            return mpi_fail(err, e, "broadcast");
    }
    return WD_OK;
#else
    return wd__err_set(err, WD_ERR_INTERNAL, "train: several ranks without MPI");
#endif
}

wd_status wd__dist_sum_f64(double *x, size_t n, wd__err *err) {
    if (g_dist.size <= 1 || n == 0) return WD_OK;
#ifdef WD_HAVE_MPI
    for (size_t i = 0; i < n; i += CHUNK) {
        int k = (int)(n - i < CHUNK ? n - i : CHUNK);
        int e = g_dist.rank == 0
                    ? MPI_Reduce(MPI_IN_PLACE, x + i, k, MPI_DOUBLE, MPI_SUM, 0, g_dist.comm)
                    : MPI_Reduce(x + i, NULL, k, MPI_DOUBLE, MPI_SUM, 0, g_dist.comm);
        if (e != MPI_SUCCESS) return mpi_fail(err, e, "reduce");
        if ((e = MPI_Bcast(x + i, k, MPI_DOUBLE, 0, g_dist.comm)) != MPI_SUCCESS)
            return mpi_fail(err, e, "broadcast");
    }
    return WD_OK;
#else
    return wd__err_set(err, WD_ERR_INTERNAL, "train: several ranks without MPI");
#endif
}

wd_status wd__dist_bcast(void *buf, size_t bytes, wd__err *err) {
    if (g_dist.size <= 1 || bytes == 0) return WD_OK;
#ifdef WD_HAVE_MPI
    for (size_t i = 0; i < bytes; i += CHUNK) {
        int k = (int)(bytes - i < CHUNK ? bytes - i : CHUNK);
        int e = MPI_Bcast((char *)buf + i, k, MPI_BYTE, 0, g_dist.comm);
        if (e != MPI_SUCCESS) return mpi_fail(err, e, "broadcast");
    }
    return WD_OK;
#else
    return wd__err_set(err, WD_ERR_INTERNAL, "train: several ranks without MPI");
#endif
}

wd_status wd__dist_agree(wd_status rc, wd__err *err) {
    if (g_dist.size <= 1) return rc;
#ifdef WD_HAVE_MPI
    struct { int v, rank; } mine = {(int)rc, g_dist.rank}, low;
    int e = MPI_Allreduce(&mine, &low, 1, MPI_2INT, MPI_MINLOC, g_dist.comm);
    if (e != MPI_SUCCESS) return mpi_fail(err, e, "allreduce");
    if (rc || low.v == 0) return rc;
    return wd__err_set(err, (wd_status)low.v, "train: rank %d of %d failed (its message is on its stderr)",
                       low.rank, g_dist.size);
#else
    return rc;
#endif
}
