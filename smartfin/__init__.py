"""smartfin"""
