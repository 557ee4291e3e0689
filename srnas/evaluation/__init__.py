"""Evaluation helpers: PSNR/SSIM over benchmark folders and model complexity (params, Multi-Adds)."""
