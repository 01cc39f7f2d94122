"""Budget rules: the dated economic classification (部门支出经济分类) that compilation templates and drafts use."""
