/*
 * main.c - certrecall's entry point; everything else is in the library so
 * that the unit tests can reach it.
 */
#include "certrecall/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
