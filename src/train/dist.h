/*
 * train/dist.h - the ranks of data-parallel training: a process started by
 * `mpirun -np N` is one of N ranks that train one model together (see
 * trainer.c and docs/train.md, "Data-parallel training (MPI)").
 *
 * Every rank holds the whole model and the whole data; a step's micro-
 * batches are dealt out over the ranks and the gradients summed over them,
 * so all ranks take the same optimiser step. This file owns the process's
 * place among the ranks and the three collective operations the trainer
 * needs: a sum of vectors, a broadcast from rank 0 and agreeing on a status.
 *
 * Built without MPI (WD_HAVE_MPI unset) or started as a plain process,
 * there is one rank (0 of 1) and every operation is a no-op. MPI is
 * initialised only when a launcher says there are ranks (the environment
 * variables OMPI_COMM_WORLD_SIZE, PMI_SIZE or SLURM_STEP_NUM_TASKS above
 * 1), so a plain run never pays
 * for MPI's start-up; a program that has initialised MPI itself is joined
 * as it is. MPI_Finalize runs at exit when this file initialised MPI.
 * Call these from one thread (the one that calls wd_train).
 */
#ifndef WD_TRAIN_DIST_H
#define WD_TRAIN_DIST_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* Joins the ranks (once; later calls return what the first found).
 * Returns WD_OK; WD_ERR_UNSUPPORTED when a launcher started several ranks
 * but this build has no MPI (or its MPI sees another number of ranks than
 * the launcher announced); WD_ERR_IO when MPI fails to start. */
wd_status wd__dist_init(wd__err *err);

/* This process's rank (0 before init and without MPI), the number of
 * ranks (1), and whether this is rank 0, the one that logs and writes. */
int  wd__dist_rank(void);
int  wd__dist_size(void);
bool wd__dist_root(void);

/* x (n) := the sum of every rank's x, the same bits on every rank: the
 * values are summed in double on rank 0 (MPI_Reduce) and the float result
 * broadcast, so no rank can round differently from another. Returns WD_OK
 * or WD_ERR_IO / WD_ERR_NOMEM (err set). */
wd_status wd__dist_sum_f32(float *x, size_t n, wd__err *err);

/* x (n) := the sum of every rank's x, in double, the same on every rank. */
wd_status wd__dist_sum_f64(double *x, size_t n, wd__err *err);

/* buf (bytes) := rank 0's buf, on every rank. */
wd_status wd__dist_bcast(void *buf, size_t bytes, wd__err *err);

/* The ranks agree on a status: returns rc where every rank passed WD_OK,
 * otherwise a failure (the lowest status passed; a rank whose own rc was
 * WD_OK gets a message naming the rank that failed), so that all ranks
 * stop together instead of waiting on a rank that left. */
wd_status wd__dist_agree(wd_status rc, wd__err *err);

#endif
